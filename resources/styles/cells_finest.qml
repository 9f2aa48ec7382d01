<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis hasScaleBasedVisibilityFlag="0" maxScale="0" minScale="100000000" simplifyAlgorithm="0" simplifyDrawingHints="1" simplifyDrawingTol="1" simplifyLocal="1" simplifyMaxScale="1" styleCategories="Symbology|Fields|MapTips|Rendering" symbologyReferenceScale="-1" version="3.22.16-Białowieża">
 <renderer-v2 attr="probability" enableorderby="0" forceraster="0" graduatedMethod="GraduatedColor" referencescale="-1" symbollevels="0" type="graduatedSymbol">
  <ranges>
   <range label="under 1%" lower="0.000000000000000" render="true" symbol="0" upper="0.010000000000000"></range>
   <range label="1–5%" lower="0.010000000000000" render="true" symbol="1" upper="0.050000000000000"></range>
   <range label="5–20%" lower="0.050000000000000" render="true" symbol="2" upper="0.200000000000000"></range>
   <range label="20–50%" lower="0.200000000000000" render="true" symbol="3" upper="0.500000000000000"></range>
   <range label="50% and more" lower="0.500000000000000" render="true" symbol="4" upper="1.000000000000000"></range>
  </ranges>
  <symbols>
   <symbol alpha="0.75" clip_to_extent="1" force_rhr="0" name="0" type="fill">
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
      <Option name="color" type="QString" value="208,209,230,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="63,106,147,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.15"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="208,209,230,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="63,106,147,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.15"></prop>
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
   <symbol alpha="0.75" clip_to_extent="1" force_rhr="0" name="1" type="fill">
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
      <Option name="color" type="QString" value="166,189,219,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="63,106,147,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.15"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="166,189,219,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="63,106,147,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.15"></prop>
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
   <symbol alpha="0.75" clip_to_extent="1" force_rhr="0" name="2" type="fill">
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
      <Option name="color" type="QString" value="116,169,207,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="63,106,147,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.15"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="116,169,207,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="63,106,147,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.15"></prop>
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
   <symbol alpha="0.75" clip_to_extent="1" force_rhr="0" name="3" type="fill">
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
      <Option name="color" type="QString" value="43,140,190,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="63,106,147,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.15"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="43,140,190,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="63,106,147,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.15"></prop>
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
   <symbol alpha="0.75" clip_to_extent="1" force_rhr="0" name="4" type="fill">
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
      <Option name="color" type="QString" value="4,90,141,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="63,106,147,255"></Option>
      <Option name="outline_style" type="QString" value="solid"></Option>
      <Option name="outline_width" type="QString" value="0.15"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="4,90,141,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="63,106,147,255"></prop>
     <prop k="outline_style" v="solid"></prop>
     <prop k="outline_width" v="0.15"></prop>
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
  <classificationMethod id="Custom">
   <symmetricMode astride="0" enabled="0" symmetrypoint="0"></symmetricMode>
   <labelFormat format="%1 - %2" labelprecision="4" trimtrailingzeroes="1"></labelFormat>
   <parameters>
    <Option></Option>
   </parameters>
   <extraInformation></extraInformation>
  </classificationMethod>
  <rotation></rotation>
  <sizescale></sizescale>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerOpacity>1</layerOpacity>
 <fieldConfiguration>
  <field configurationFlags="None" name="level"></field>
  <field configurationFlags="None" name="rank"></field>
  <field configurationFlags="None" name="probability"></field>
 </fieldConfiguration>
 <aliases>
  <alias field="level" index="0" name=""></alias>
  <alias field="rank" index="1" name=""></alias>
  <alias field="probability" index="2" name=""></alias>
 </aliases>
 <defaults>
  <default applyOnUpdate="0" expression="" field="level"></default>
  <default applyOnUpdate="0" expression="" field="rank"></default>
  <default applyOnUpdate="0" expression="" field="probability"></default>
 </defaults>
 <constraints>
  <constraint constraints="0" exp_strength="0" field="level" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="rank" notnull_strength="0" unique_strength="0"></constraint>
  <constraint constraints="0" exp_strength="0" field="probability" notnull_strength="0" unique_strength="0"></constraint>
 </constraints>
 <constraintExpressions>
  <constraint desc="" exp="" field="level"></constraint>
  <constraint desc="" exp="" field="rank"></constraint>
  <constraint desc="" exp="" field="probability"></constraint>
 </constraintExpressions>
 <expressionfields></expressionfields>
 <mapTip></mapTip>
 <layerGeometryType>2</layerGeometryType>
</qgis>
