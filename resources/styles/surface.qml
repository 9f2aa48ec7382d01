<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis hasScaleBasedVisibilityFlag="0" maxScale="0" minScale="100000000" simplifyAlgorithm="0" simplifyDrawingHints="1" simplifyDrawingTol="1" simplifyLocal="1" simplifyMaxScale="1" styleCategories="Symbology|Fields|MapTips|Rendering" symbologyReferenceScale="-1" version="3.22.16-Białowieża">
 <renderer-v2 attr="probability" enableorderby="0" forceraster="0" graduatedMethod="GraduatedColor" referencescale="-1" symbollevels="0" type="graduatedSymbol">
  <ranges>
   <range label="0–0.001" lower="0.000000000000000" render="true" symbol="0" upper="0.001000000000000"></range>
   <range label="0.001–0.01" lower="0.001000000000000" render="true" symbol="1" upper="0.010000000000000"></range>
   <range label="0.01–0.05" lower="0.010000000000000" render="true" symbol="2" upper="0.050000000000000"></range>
   <range label="0.05–0.2" lower="0.050000000000000" render="true" symbol="3" upper="0.200000000000000"></range>
   <range label="0.2–1" lower="0.200000000000000" render="true" symbol="4" upper="1.000000000000000"></range>
  </ranges>
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
      <Option name="color" type="QString" value="255,255,204,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="35,35,35,255"></Option>
      <Option name="outline_style" type="QString" value="no"></Option>
      <Option name="outline_width" type="QString" value="0.26"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="255,255,204,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="35,35,35,255"></prop>
     <prop k="outline_style" v="no"></prop>
     <prop k="outline_width" v="0.26"></prop>
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
      <Option name="color" type="QString" value="254,217,118,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="35,35,35,255"></Option>
      <Option name="outline_style" type="QString" value="no"></Option>
      <Option name="outline_width" type="QString" value="0.26"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="254,217,118,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="35,35,35,255"></prop>
     <prop k="outline_style" v="no"></prop>
     <prop k="outline_width" v="0.26"></prop>
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
      <Option name="color" type="QString" value="253,141,60,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="35,35,35,255"></Option>
      <Option name="outline_style" type="QString" value="no"></Option>
      <Option name="outline_width" type="QString" value="0.26"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="253,141,60,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="35,35,35,255"></prop>
     <prop k="outline_style" v="no"></prop>
     <prop k="outline_width" v="0.26"></prop>
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
   <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="3" type="fill">
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
      <Option name="color" type="QString" value="227,26,28,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="35,35,35,255"></Option>
      <Option name="outline_style" type="QString" value="no"></Option>
      <Option name="outline_width" type="QString" value="0.26"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="227,26,28,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="35,35,35,255"></prop>
     <prop k="outline_style" v="no"></prop>
     <prop k="outline_width" v="0.26"></prop>
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
   <symbol alpha="1" clip_to_extent="1" force_rhr="0" name="4" type="fill">
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
      <Option name="color" type="QString" value="128,0,38,255"></Option>
      <Option name="joinstyle" type="QString" value="bevel"></Option>
      <Option name="offset" type="QString" value="0,0"></Option>
      <Option name="offset_map_unit_scale" type="QString" value="3x:0,0,0,0,0,0"></Option>
      <Option name="offset_unit" type="QString" value="MM"></Option>
      <Option name="outline_color" type="QString" value="35,35,35,255"></Option>
      <Option name="outline_style" type="QString" value="no"></Option>
      <Option name="outline_width" type="QString" value="0.26"></Option>
      <Option name="outline_width_unit" type="QString" value="MM"></Option>
      <Option name="style" type="QString" value="solid"></Option>
     </Option>
     <prop k="border_width_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="color" v="128,0,38,255"></prop>
     <prop k="joinstyle" v="bevel"></prop>
     <prop k="offset" v="0,0"></prop>
     <prop k="offset_map_unit_scale" v="3x:0,0,0,0,0,0"></prop>
     <prop k="offset_unit" v="MM"></prop>
     <prop k="outline_color" v="35,35,35,255"></prop>
     <prop k="outline_style" v="no"></prop>
     <prop k="outline_width" v="0.26"></prop>
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
 <layerOpacity>0.7</layerOpacity>
 <fieldConfiguration>
  <field configurationFlags="None" name="probability"></field>
 </fieldConfiguration>
 <aliases>
  <alias field="probability" index="0" name=""></alias>
 </aliases>
 <defaults>
  <default applyOnUpdate="0" expression="" field="probability"></default>
 </defaults>
 <constraints>
  <constraint constraints="0" exp_strength="0" field="probability" notnull_strength="0" unique_strength="0"></constraint>
 </constraints>
 <constraintExpressions>
  <constraint desc="" exp="" field="probability"></constraint>
 </constraintExpressions>
 <expressionfields></expressionfields>
 <mapTip></mapTip>
 <layerGeometryType>2</layerGeometryType>
</qgis>
