<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis hasScaleBasedVisibilityFlag="0" maxScale="0" minScale="100000000" simplifyAlgorithm="0" simplifyDrawingHints="1" simplifyDrawingTol="1" simplifyLocal="1" simplifyMaxScale="1" styleCategories="Symbology|Fields|MapTips|Rendering" symbologyReferenceScale="-1" version="3.22.16-Białowieża">
 <renderer-v2 attr="concat(&quot;kind&quot;, ' ', &quot;mode&quot;)" enableorderby="0" forceraster="0" referencescale="-1" symbollevels="0" type="categorizedSymbol">
  <categories>
   <category label="area kept" render="true" symbol="0" value="area include"></category>
   <category label="area excluded" render="true" symbol="1" value="area exclude"></category>
   <category label="where the sun stood that high" render="true" symbol="2" value="sun include"></category>
  </categories>
  <symbols>
   <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="0" type="fill">
    <data_defined_properties>
     <Option type="Map">
      <Option name="name" type="QString" value=""></Option>
      <Option name="properties"></Option>
      <Option name="type" type="QString" value="collection"></Option>
     </Option>
    </data_defined_properties>
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="border_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="color" type="QString" value="0,0,255,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="26,152,80,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.8"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="no"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="0,0,255,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="26,152,80,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.8"></prop>
     <prop k="outline_width_unit" v="MM"></prop>
     <prop k="style" v="no"></prop>
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
    </layer>
   </symbol>
   <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="1" type="fill">
    <data_defined_properties>
     <Option type="Map">
      <Option name="name" type="QString" value=""></Option>
      <Option name="properties"></Option>
      <Option name="type" type="QString" value="collection"></Option>
     </Option>
    </data_defined_properties>
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="border_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="color" type="QString" value="215,48,39,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="215,48,39,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.6"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="b_diagonal"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="215,48,39,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="215,48,39,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.6"></prop>
     <prop k="outline_width_unit" v="MM"></prop>
     <prop k="style" v="b_diagonal"></prop>
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
    </layer>
   </symbol>
   <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="2" type="fill">
    <data_defined_properties>
     <Option type="Map">
      <Option name="name" type="QString" value=""></Option>
      <Option name="properties"></Option>
      <Option name="type" type="QString" value="collection"></Option>
     </Option>
    </data_defined_properties>
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="border_width_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="color" type="QString" value="254,224,139,70"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="244,109,67,255"></Option>
      <Option name="outline_style" type="QString" value="dot"></Option>
      <Option name="outline_width" type="QString" value="0.4"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="254,224,139,70"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="244,109,67,255"></prop>
     <prop k="outline_style" v="dot"></prop>
     <prop k="outline_width" v="0.4"></prop>
     <prop k="outline_width_unit" v="MM"></prop>
     <prop k="style" v="solid"></prop>
     <data_defined_properties>
      <Option type="Map">
       <Option name="name" type="QString" value=""></Option>
       <Option name="properties"></Option>
       <Option name="type" type="QString" value="collection"></Option>
      </Option>
     </data_defined_properties>
    </layer>
   </symbol>
  </symbols>
  <rotation></rotation>
  <sizescale></sizescale>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerOpacity>1</layerOpacity>
 <fieldConfiguration>
  <field configurationFlags="None" name="kind"></field>
  <field configurationFlags="None" name="mode"></field>
  <field configurationFlags="None" name="label"></field>
 </fieldConfiguration>
 <aliases>
  <alias field="kind" index="0" name=""></alias>
  <alias field="mode" index="1" name=""></alias>
  <alias field="label" index="2" name=""></alias>
 </aliases>
 <defaults>
  <default applyOnUpdate="0" expression="" field="kind"></default>
  <default applyOnUpdate="0" expression="" field="mode"></default>
  <default applyOnUpdate="0" expression="" field="label"></default>
 </defaults>
 <constraints>
  <constraint constraints="0" exp_strength="0" field="kind" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="mode" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="label" notnull_strength="0" unique_strength="0"></constraint>
 </constraints>
 <constraintExpressions>
  <constraint desc="" exp="" field="kind"></constraint>
  <constraint desc="" exp="" field="mode"></constraint>
  <constraint desc="" exp="" field="label"></constraint>
 </constraintExpressions>
 <expressionfields></expressionfields>
 <mapTip></mapTip>
 <layerGeometryType>2</layerGeometryType>
</qgis>
